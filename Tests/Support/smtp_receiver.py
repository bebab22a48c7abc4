"""A real SMTP server (aiosmtpd) for gigs-relay's end-to-end tests.

It offers STARTTLS with the given certificate (and then requires it), AUTH PLAIN and LOGIN for one
user, records each accepted message as one JSON line, and answers DATA with scripted reply codes.

Usage: smtp_receiver.py --record FILE --replies-file FILE [--cert PEM --key PEM]
                        [--user NAME --password TEXT] [--no-auth-plain]
The replies file holds reply codes separated by white space; message n gets the n-th code (the last
one repeats). Prints "LISTENING <port>" once ready and exits when its standard input closes or its
parent dies.
"""
import argparse
import asyncio
import base64
import email
import email.policy
import json
import os
import ssl
import sys
import time

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

parser = argparse.ArgumentParser()
parser.add_argument("--record", required=True)
parser.add_argument("--replies-file", required=True)
parser.add_argument("--cert")
parser.add_argument("--key")
parser.add_argument("--user")
parser.add_argument("--password")
parser.add_argument("--no-auth-plain", action="store_true")
args = parser.parse_args()

REPLIES = {
    "250": "250 OK queued",
    "421": "421 Service not available, closing channel",
    "451": "451 Requested action aborted: local error in processing",
    "452": "452 Insufficient system storage",
    "550": "550 Mailbox unavailable",
    "554": "554 Transaction failed",
}


class Handler:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        number = self.count
        self.count += 1
        with open(args.replies_file) as f:
            codes = f.read().split() or ["250"]
        code = codes[min(number, len(codes) - 1)]
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        plain = message.get_body(("plain",))
        html = message.get_body(("html",))
        defects = [str(d) for part in message.walk() for d in part.defects]
        with open(args.record, "a") as f:
            f.write(json.dumps({
                "number": number,
                "mailFrom": envelope.mail_from,
                "rcptTos": envelope.rcpt_tos,
                "data": base64.b64encode(raw).decode(),
                "from": str(message["from"]),
                "to": str(message["to"]),
                "subject": str(message["subject"]),
                "messageId": str(message["message-id"]),
                "text": plain.get_content().replace("\r\n", "\n") if plain is not None else None,
                "html": html.get_content().replace("\r\n", "\n") if html is not None else None,
                "defects": defects,
                "longestLine": max(len(line) for line in raw.split(b"\r\n")),
                "tls": session.ssl is not None,
                "authenticated": session.authenticated,
                "login": getattr(session, "relay_login", None),
                "reply": code,
                "received": time.time(),
            }) + "\n")
        return REPLIES.get(code, code + " scripted reply")


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == args.user
          and auth_data.password.decode() == args.password)
    if ok:
        session.relay_login = auth_data.login.decode()
    return AuthResult(success=ok)


async def main():
    context = None
    if args.cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
    handler = Handler()
    loop = asyncio.get_running_loop()

    def factory():
        return SMTP(handler, hostname="relay.test", tls_context=context, require_starttls=context is not None,
                    auth_required=args.user is not None, auth_require_tls=context is not None,
                    authenticator=authenticator if args.user else None,
                    auth_exclude_mechanism=["PLAIN"] if args.no_auth_plain else None)

    server = await loop.create_server(factory, host="127.0.0.1", port=0)
    port = server.sockets[0].getsockname()[1]
    print(f"LISTENING {port}", flush=True)
    parent = os.getppid()
    while os.getppid() == parent:
        await asyncio.sleep(0.5)


asyncio.run(main())
