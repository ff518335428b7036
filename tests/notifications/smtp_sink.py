"""A tiny SMTP server for tests: enough of RFC 5321 for smtplib (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT),
keeping each message it accepts. The standard library lost smtpd in 3.12 and aiosmtpd is not installed."""

import email
import email.policy
import socketserver
import threading
from email.message import EmailMessage


class _Session(socketserver.StreamRequestHandler):
    server: "_Server"

    def _reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def _data(self) -> bytes:
        lines = []
        while (line := self.rfile.readline()) not in (b".\r\n", b""):
            lines.append(line[1:] if line.startswith(b"..") else line)  # dot-stuffing undone
        return b"".join(lines)

    def handle(self) -> None:
        self._reply("220 sink ESMTP")
        recipients: list[str] = []
        while line := self.rfile.readline():
            verb, _, argument = line.decode("utf-8", "replace").strip().partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                self._reply("250-sink")
                self._reply("250-8BITMIME")
                self._reply("250 SMTPUTF8")
            elif verb in ("HELO", "NOOP", "MAIL"):
                self._reply("250 OK")
            elif verb == "RSET":
                recipients = []
                self._reply("250 OK")
            elif verb == "RCPT":
                address = argument.partition(":")[2].strip().strip("<>")
                if address in self.server.refused:
                    self._reply("550 no such mailbox")
                else:
                    recipients.append(address)
                    self._reply("250 OK")
            elif verb == "DATA":
                self._reply("354 end with .")
                message = email.message_from_bytes(self._data(), policy=email.policy.default)
                turned_down = [self.server.data_refused[to] for to in recipients if to in self.server.data_refused]
                if turned_down:  # as a content filter answers after reading the message
                    self._reply(turned_down[0])
                else:
                    self.server.messages.append(message)  # type: ignore[arg-type]
                    self._reply("250 OK")
                recipients = []
            elif verb == "QUIT":
                self._reply("221 bye")
                return
            else:
                self._reply("502 not implemented")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Session)
        self.messages: list[EmailMessage] = []
        self.refused: set[str] = set()
        self.data_refused: dict[str, str] = {}  # recipient → the reply to the message's DATA


class SmtpSink:
    """`with SmtpSink() as sink:` serves on sink.port; sink.messages holds what it received."""

    def __enter__(self) -> "SmtpSink":
        self._server = _Server()
        self.port = self._server.server_address[1]
        self.messages = self._server.messages
        self.refused = self._server.refused
        self.data_refused = self._server.data_refused
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
