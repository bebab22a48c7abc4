/// `GET /projects/{project}/sims/{sim}/credentials`: what installs an eSIM. Every field is a credential:
/// whoever holds it can claim the eSIM until it is installed. Kept in memory for one attempt only.
public struct SIMCredentials: Sendable, Decodable {
    public let activationCode: Credential?
    public let iosInstallUrl: Credential?
    public let androidInstallUrl: Credential?
    public let qrCodeUrl: Credential?
}
