#!/usr/bin/python3
"""A fake HTTP/1.1 server for the http_client tests (tests/unit/test_net_http_client.c).

Binds 127.0.0.1 on an ephemeral port and prints the port on stdout. Endpoints:
  GET  /hello          200 "hello world" with X-Fake: yes
  GET  /n/<i>          200 "n=<i>"
  GET  /429            429 with Retry-After: 7
  GET  /429date        429 with Retry-After as an HTTP-date 120 s ahead
  GET  /big/<n>        200 with n bytes of 'x'
  GET  /hang           never answers; returns when the client goes away
  GET  /headers        200 with the request's X-Test header as the body
  POST /echo           the body back, X-Len and the request's Content-Type
  POST /sum            "<length> <CRC-32 of the body, hex>"
"""
import email.utils
import sys
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, body, headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        p = self.path
        if p == "/hello":
            self.reply(200, b"hello world", [("X-Fake", "yes")])
        elif p.startswith("/n/"):
            self.reply(200, ("n=" + p[3:]).encode())
        elif p == "/429":
            self.reply(429, b"slow down", [("Retry-After", "7")])
        elif p == "/429date":
            when = email.utils.formatdate(time.time() + 120, usegmt=True)
            self.reply(429, b"", [("Retry-After", when)])
        elif p.startswith("/big/"):
            self.reply(200, b"x" * int(p[5:]))
        elif p == "/hang":
            self.rfile.read(1)  # blocks until the client closes the connection
            self.close_connection = True
        elif p == "/headers":
            self.reply(200, (self.headers.get("X-Test") or "").encode())
        else:
            self.reply(404, b"no such thing")

    def do_POST(self):
        data = self.body()
        if self.path == "/echo":
            ctype = self.headers.get("Content-Type") or ""
            self.reply(200, data, [("X-Len", str(len(data))), ("Content-Type", ctype)])
        elif self.path == "/sum":
            self.reply(200, ("%d %08x" % (len(data), zlib.crc32(data))).encode())
        else:
            self.reply(404, b"no such thing")

    do_PUT = do_POST


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that give up (timeouts, cancels, size caps) are part of the tests


def main():
    server = Server(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
