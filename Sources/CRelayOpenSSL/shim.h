#ifndef CRELAY_OPENSSL_SHIM_H
#define CRELAY_OPENSSL_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

/// HMAC-SHA256 of `data` under `key`, written to `out` (32 bytes). Returns 1 on success.
static inline int relay_hmac_sha256(const uint8_t *key, size_t key_len,
                                    const uint8_t *data, size_t data_len,
                                    uint8_t *out) {
    unsigned int out_len = 0;
    const unsigned char *result = HMAC(EVP_sha256(), key, (int)key_len, data, data_len, out, &out_len);
    return result != NULL && out_len == 32;
}

/// Constant-time comparison of two buffers of `len` bytes. Returns 0 when equal.
static inline int relay_memcmp(const void *a, const void *b, size_t len) {
    return CRYPTO_memcmp(a, b, len);
}

/// Fills `out` with `len` cryptographically secure random bytes. Returns 1 on success.
static inline int relay_random_bytes(uint8_t *out, size_t len) {
    return RAND_bytes(out, (int)len);
}

/// AES-256-GCM with a 12-byte nonce: encrypts `in` into `out` (the same length), authenticating `aad`
/// too, and writes the 16-byte tag. `cipher` is a fetched AES-256-GCM. Returns 1 on success.
static inline int relay_aes256gcm_seal(const EVP_CIPHER *cipher, const uint8_t *key, const uint8_t *nonce,
                                       const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len,
                                       uint8_t *out, uint8_t *tag) {
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) return 0;
    int len = 0, ok = 0;
    if (in_len > INT32_MAX || aad_len > INT32_MAX) goto done;
    if (EVP_EncryptInit_ex2(ctx, cipher, key, nonce, NULL) != 1) goto done;
    if (aad_len > 0 && EVP_EncryptUpdate(ctx, NULL, &len, aad, (int)aad_len) != 1) goto done;
    if (in_len > 0 && EVP_EncryptUpdate(ctx, out, &len, in, (int)in_len) != 1) goto done;
    if (EVP_EncryptFinal_ex(ctx, out + len, &len) != 1) goto done;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1) goto done;
    ok = 1;
done:
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

/// The inverse of `relay_aes256gcm_seal`: returns 1 when the tag proves `in` and `aad` unchanged under
/// `key` (then `out` holds the plaintext), else 0.
static inline int relay_aes256gcm_open(const EVP_CIPHER *cipher, const uint8_t *key, const uint8_t *nonce,
                                       const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len,
                                       const uint8_t *tag, uint8_t *out) {
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) return 0;
    int len = 0, ok = 0;
    if (in_len > INT32_MAX || aad_len > INT32_MAX) goto done;
    if (EVP_DecryptInit_ex2(ctx, cipher, key, nonce, NULL) != 1) goto done;
    if (aad_len > 0 && EVP_DecryptUpdate(ctx, NULL, &len, aad, (int)aad_len) != 1) goto done;
    if (in_len > 0 && EVP_DecryptUpdate(ctx, out, &len, in, (int)in_len) != 1) goto done;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, (void *)tag) != 1) goto done;
    ok = EVP_DecryptFinal_ex(ctx, out + len, &len) == 1;
done:
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

/// AES-256-GCM from the default provider, fetched once by the caller (NULL when unavailable).
static inline EVP_CIPHER *relay_fetch_aes256gcm(void) {
    return EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

#endif
