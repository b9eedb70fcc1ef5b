# The PostgreSQL login of gen doctor, a module its program imports (doctor.py; src/doctor/doctor-checks.ts sends it
# with the program): log in as Django will, speaking the frontend/backend protocol 3.0 up to ReadyForQuery: a
# StartupMessage, then cleartext, MD5 or SCRAM-SHA-256 (RFC 5802/7677, the server's signature verified) as the server
# asks. Like libpq's default (sslmode=prefer), it asks for SSL first and logs in over TLS when the server offers it,
# without verifying the certificate. The password is only ever sent to the server, and no message quotes it.
import base64, hashlib, hmac, os, socket, ssl, struct, unicodedata

AUTH_METHODS = {2: "Kerberos V5", 6: "SCM credentials", 7: "GSSAPI", 8: "GSSAPI", 9: "SSPI"}

def pg_recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("the server closed the connection")
        data += chunk
    return data

def pg_recv(sock):
    head = pg_recv_exact(sock, 5)
    length = struct.unpack("!i", head[1:])[0]
    return head[:1], pg_recv_exact(sock, length - 4)

def pg_send(sock, kind, payload):
    sock.sendall(kind + struct.pack("!i", len(payload) + 4) + payload)

def pg_fields(payload):
    fields = {}
    for part in payload.split(b"\0"):
        if part:
            fields[part[:1].decode("latin-1")] = part[1:].decode("utf-8", "replace")
    return fields

def saslprep(password):
    # RFC 4013 as PostgreSQL applies it, minus the prohibited-character checks (where the server then uses the raw
    # password): ASCII passes unchanged; other spaces become " ", characters mapped to nothing go, then NFKC.
    if all(ord(c) < 128 for c in password):
        return password
    nothing = set("\u00ad\u034f\u1806\u180b\u180c\u180d\u200b\u200c\u200d\u2060\ufeff") | {chr(c) for c in range(0xfe00, 0xfe10)}
    mapped = "".join(" " if unicodedata.category(c) == "Zs" else c for c in password if c not in nothing)
    return unicodedata.normalize("NFKC", mapped)

def scram_attributes(message):
    return dict(item.split("=", 1) for item in message.split(",") if "=" in item)

def scram_client_final(password, client_first_bare, server_first):
    """The client-final-message and the server signature the server must then prove (base64), per RFC 5802."""
    attributes = scram_attributes(server_first)
    nonce, salt, iterations = attributes["r"], base64.b64decode(attributes["s"]), int(attributes["i"])
    if not nonce.startswith(scram_attributes(client_first_bare)["r"]):
        raise ValueError("the server's SCRAM nonce does not extend gen's")
    salted = hashlib.pbkdf2_hmac("sha256", saslprep(password).encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    without_proof = "c=biws,r=" + nonce
    auth_message = ("%s,%s,%s" % (client_first_bare, server_first, without_proof)).encode("utf-8")
    signature = hmac.new(hashlib.sha256(client_key).digest(), auth_message, "sha256").digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    server_signature = base64.b64encode(hmac.new(server_key, auth_message, "sha256").digest()).decode()
    return without_proof + ",p=" + base64.b64encode(proof).decode(), server_signature

def pg_authenticate(sock, user, database, password):
    """("ok", method) at ReadyForQuery, ("error", ErrorResponse fields), or ("method", what gen cannot speak)."""
    params = b"".join(k + b"\0" + v.encode("utf-8") + b"\0" for k, v in ((b"user", user), (b"database", database), (b"application_name", "gen doctor"))) + b"\0"
    body = struct.pack("!i", 196608) + params
    sock.sendall(struct.pack("!i", len(body) + 4) + body)
    method, first_bare, expected, proven = "trust", None, None, False
    while True:
        kind, payload = pg_recv(sock)
        if kind == b"E":
            return "error", pg_fields(payload)
        if kind == b"Z":
            pg_send(sock, b"X", b"")
            return "ok", method
        if kind != b"R":
            continue  # ParameterStatus, BackendKeyData, NoticeResponse
        code = struct.unpack("!i", payload[:4])[0]
        if code == 0:
            if first_bare is not None and not proven:
                raise ValueError("the server ended SCRAM without proving it knows the password")
        elif code == 3:
            method = "cleartext password"
            pg_send(sock, b"p", password.encode("utf-8") + b"\0")
        elif code == 5:
            method = "md5"
            inner = hashlib.md5((password + user).encode("utf-8")).hexdigest().encode()
            pg_send(sock, b"p", b"md5" + hashlib.md5(inner + payload[4:8]).hexdigest().encode() + b"\0")
        elif code == 10:
            offered = [m.decode("latin-1") for m in payload[4:].split(b"\0") if m]
            if "SCRAM-SHA-256" not in offered:
                return "method", "SASL " + " ".join(offered)
            method = "scram-sha-256"
            # "n,,": gen does no channel binding (and says so, which a server offering -PLUS accepts)
            first_bare = "n=,r=" + base64.b64encode(os.urandom(18)).decode()
            first = ("n,," + first_bare).encode()
            pg_send(sock, b"p", b"SCRAM-SHA-256\0" + struct.pack("!i", len(first)) + first)
        elif code == 11 and first_bare is not None:
            final, expected = scram_client_final(password, first_bare, payload[4:].decode("utf-8"))
            pg_send(sock, b"p", final.encode("utf-8"))
        elif code == 12 and expected is not None:
            answer = scram_attributes(payload[4:].decode("utf-8"))
            if not hmac.compare_digest(answer.get("v", ""), expected):
                raise ValueError("the server's SCRAM signature is wrong: it does not know the password (%s)" % answer.get("e", "no error given"))
            proven = True
        else:
            return "method", AUTH_METHODS.get(code, "authentication request %d" % code)

def pg_open(host, port, timeout):
    """A socket ready for the StartupMessage, and whether it is TLS: SSL first when the server offers it."""
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        sock.sendall(struct.pack("!ii", 8, 80877103))
        if pg_recv_exact(sock, 1) != b"S":
            return sock, False
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context.wrap_socket(sock), True
    except Exception:
        sock.close()
        raise
