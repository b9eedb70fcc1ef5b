# The PostgreSQL login module of gen doctor against RFC 7677's example (section 3: user "user", password "pencil")
# and against a stand-in server on the other end of a socket pair that speaks the protocol as PostgreSQL does:
# cleartext, MD5 and SCRAM-SHA-256 (the server proving it knows the password), errors and methods gen cannot speak.
import base64, hashlib, hmac, socket, struct, threading, unittest

import postgres_login

CLIENT_FIRST_BARE = "n=user,r=rOprNGfwEbeRWgbNEkqO"
SERVER_FIRST = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"


class Scram(unittest.TestCase):
    def test_rfc_7677_client_final_message_and_server_signature(self):
        self.assertEqual(postgres_login.scram_client_final("pencil", CLIENT_FIRST_BARE, SERVER_FIRST), (
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
        ))

    def test_another_password_gives_another_proof(self):
        final, _ = postgres_login.scram_client_final("pencil2", CLIENT_FIRST_BARE, SERVER_FIRST)
        self.assertFalse(final.endswith("p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="))

    def test_refuses_a_server_nonce_that_does_not_extend_its_own(self):
        forged = SERVER_FIRST.replace("r=rOprNGfwEbeRWgbNEkqO", "r=someoneElsesNonce")
        with self.assertRaisesRegex(ValueError, "^the server's SCRAM nonce does not extend gen's$"):
            postgres_login.scram_client_final("pencil", CLIENT_FIRST_BARE, forged)

    def test_saslprep_leaves_ascii_alone_and_normalises_others_as_postgresql_does(self):
        self.assertEqual(postgres_login.saslprep("pencil"), "pencil")
        self.assertEqual(postgres_login.saslprep("I\u00adX"), "IX")
        self.assertEqual(postgres_login.saslprep("a\u00a0b\u2168"), "a bIX")


def message(kind, payload):
    return kind + struct.pack("!i", len(payload) + 4) + payload


def authentication(code, data=b""):
    return message(b"R", struct.pack("!i", code) + data)


READY = message(b"S", b"server_version\x0016.0\x00") + message(b"Z", b"I")


class StandIn:
    """The server's end of a socket pair: `serve(end)` runs in a thread; what it received and any failure are kept."""

    def __init__(self, serve):
        self.client, self.end = socket.socketpair()
        self.client.settimeout(10)
        self.end.settimeout(10)
        self.failure = None
        self.startup = None
        self.thread = threading.Thread(target=self._run, args=(serve,))
        self.thread.start()

    def _run(self, serve):
        try:
            length = struct.unpack("!i", postgres_login.pg_recv_exact(self.end, 4))[0]
            body = postgres_login.pg_recv_exact(self.end, length - 4)
            self.startup = dict(zip(*[iter(body[4:].rstrip(b"\0").split(b"\0"))] * 2))
            serve(self.end)
            # Open until the client is done (its Terminate, then its end of the pair closed).
            while self.end.recv(4096):
                pass
        except Exception as error:
            self.failure = error
        finally:
            self.end.close()

    def log_in(self, password, user="tsosi_user", database="tsosi"):
        try:
            return postgres_login.pg_authenticate(self.client, user, database, password)
        finally:
            self.client.close()
            self.thread.join(10)


def password_message(end):
    kind, payload = postgres_login.pg_recv(end)
    assert kind == b"p", kind
    return payload


class Authenticate(unittest.TestCase):
    def test_sends_the_user_database_and_its_name_in_the_startup_message(self):
        server = StandIn(lambda end: end.sendall(authentication(0) + READY))
        self.assertEqual(server.log_in("unused"), ("ok", "trust"))
        self.assertEqual(server.startup, {b"user": b"tsosi_user", b"database": b"tsosi", b"application_name": b"gen doctor"})

    def test_cleartext_password(self):
        got = []

        def serve(end):
            end.sendall(authentication(3))
            got.append(password_message(end))
            end.sendall(authentication(0) + READY)
        self.assertEqual(StandIn(serve).log_in("s3cret"), ("ok", "cleartext password"))
        self.assertEqual(got, [b"s3cret\0"])

    def test_md5_password_salted_as_postgresql_expects(self):
        got = []

        def serve(end):
            end.sendall(authentication(5, b"\x01\x02\x03\x04"))
            got.append(password_message(end))
            end.sendall(authentication(0) + READY)
        self.assertEqual(StandIn(serve).log_in("s3cret"), ("ok", "md5"))
        inner = hashlib.md5(b"s3crettsosi_user").hexdigest().encode()
        self.assertEqual(got, [b"md5" + hashlib.md5(inner + b"\x01\x02\x03\x04").hexdigest().encode() + b"\0"])

    def scram_server(self, password, prove=True, signature=None):
        """A SCRAM-SHA-256 server that knows `password`; it checks the client's proof and proves itself."""
        def serve(end):
            end.sendall(authentication(10, b"SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0"))
            initial = password_message(end)
            mechanism, rest = initial.split(b"\0", 1)
            assert mechanism == b"SCRAM-SHA-256"
            first = rest[4:4 + struct.unpack("!i", rest[:4])[0]].decode()
            assert first.startswith("n,,"), first
            first_bare = first[3:]
            nonce = postgres_login.scram_attributes(first_bare)["r"] + "server-part"
            salt = b"salt-of-the-role"
            server_first = "r=%s,s=%s,i=4096" % (nonce, base64.b64encode(salt).decode())
            end.sendall(authentication(11, server_first.encode()))
            final = password_message(end).decode()
            without_proof, proof = final.rsplit(",p=", 1)
            salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 4096)
            client_key = hmac.new(salted, b"Client Key", "sha256").digest()
            auth_message = ("%s,%s,%s" % (first_bare, server_first, without_proof)).encode()
            client_signature = hmac.new(hashlib.sha256(client_key).digest(), auth_message, "sha256").digest()
            if bytes(a ^ b for a, b in zip(base64.b64decode(proof), client_signature)) != client_key:
                end.sendall(message(b"E", b"SFATAL\0C28P01\0Mpassword authentication failed\0\0"))
                return
            server_key = hmac.new(salted, b"Server Key", "sha256").digest()
            proven = signature or base64.b64encode(hmac.new(server_key, auth_message, "sha256").digest()).decode()
            if prove:
                end.sendall(authentication(12, ("v=" + proven).encode()))
            end.sendall(authentication(0) + READY)
        return StandIn(serve)

    def test_scram_sha_256_with_the_server_proving_it_knows_the_password(self):
        server = self.scram_server("pencil")
        self.assertEqual(server.log_in("pencil"), ("ok", "scram-sha-256"))
        self.assertIsNone(server.failure)

    def test_scram_with_the_wrong_password_is_the_servers_error(self):
        outcome, fields = self.scram_server("pencil").log_in("pencil2")
        self.assertEqual((outcome, fields["C"], fields["M"]), ("error", "28P01", "password authentication failed"))

    def test_refuses_a_server_whose_scram_signature_is_wrong(self):
        server = self.scram_server("pencil", signature=base64.b64encode(b"x" * 32).decode())
        with self.assertRaisesRegex(ValueError, "^the server's SCRAM signature is wrong: it does not know the password"):
            server.log_in("pencil")

    def test_refuses_a_server_that_ends_scram_without_proving_itself(self):
        with self.assertRaisesRegex(ValueError, "^the server ended SCRAM without proving it knows the password$"):
            self.scram_server("pencil", prove=False).log_in("pencil")

    def test_names_a_method_it_cannot_speak(self):
        self.assertEqual(StandIn(lambda end: end.sendall(authentication(7))).log_in("x"), ("method", "GSSAPI"))
        self.assertEqual(StandIn(lambda end: end.sendall(authentication(10, b"OTHER\0\0"))).log_in("x"), ("method", "SASL OTHER"))

    def test_an_error_response_comes_back_as_its_fields(self):
        error = message(b"E", b"SFATAL\0C3D000\0Mdatabase \"tsosi\" does not exist\0\0")
        self.assertEqual(StandIn(lambda end: end.sendall(error)).log_in("x"), ("error", {"S": "FATAL", "C": "3D000", "M": 'database "tsosi" does not exist'}))

    def test_a_server_that_closes_the_connection_is_an_error(self):
        with self.assertRaisesRegex(ConnectionError, "the server closed the connection"):
            StandIn(lambda end: end.shutdown(socket.SHUT_RDWR)).log_in("x")


class Open(unittest.TestCase):
    def listen(self, answer):
        """A TCP server on 127.0.0.1 that answers the SSLRequest with `answer` and keeps what it was sent."""
        listener = socket.create_server(("127.0.0.1", 0))
        self.addCleanup(listener.close)
        received = []

        def serve():
            conn, _ = listener.accept()
            with conn:
                received.append(postgres_login.pg_recv_exact(conn, 8))
                conn.sendall(answer)
                conn.recv(1)
        thread = threading.Thread(target=serve)
        thread.start()
        self.addCleanup(thread.join, 10)
        return listener.getsockname()[1], received

    def test_asks_for_ssl_first_and_stays_plain_when_the_server_offers_none(self):
        port, received = self.listen(b"N")
        sock, tls = postgres_login.pg_open("127.0.0.1", port, 10)
        sock.close()
        self.assertEqual((tls, received), (False, [struct.pack("!ii", 8, 80877103)]))


if __name__ == "__main__":
    unittest.main()
