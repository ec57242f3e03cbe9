#!/usr/bin/env python3
"""Signs message.eml with test.private into signed-HEADER-BODY.eml for the unit tests of
installer/dkimverify.c. A second, separate reading of RFC 6376 §3.4/§3.7 (Python and the
cryptography package, not the C code): run by hand when the fixtures must change."""
import base64, hashlib, re, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

def fields(head):
    out = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            out[-1] += b"\r\n" + line
        elif line:
            out.append(line)
    return [f + b"\r\n" for f in out]

def canon_header(c, f):
    if c == "simple":
        return f
    name, value = f.split(b":", 1)
    value = re.sub(rb"\r\n", b"", value)
    value = re.sub(rb"[ \t]+", b" ", value).strip(b" ")
    return name.strip(b" \t").lower() + b":" + value + b"\r\n"

def canon_body(c, body):
    if c == "simple":
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        while body.endswith(b"\r\n\r\n"):
            body = body[:-2]
        return body
    lines = body.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines.pop()
    lines = [re.sub(rb"[ \t]+", b" ", l).rstrip(b" ") for l in lines]
    while lines and lines[-1] == b"":
        lines.pop()
    return b"".join(l + b"\r\n" for l in lines)

def sign(msg, key, hc, bc, d="lab.test", s="fixture"):
    head, body = msg.split(b"\r\n\r\n", 1)
    fs = fields(head + b"\r\n")
    bh = base64.b64encode(hashlib.sha256(canon_body(bc, body)).digest()).decode()
    h = ["from", "to", "subject", "message-id", "received", "from"]  # from twice: oversigned
    sig = ("DKIM-Signature: v=1; a=rsa-sha256; c=%s/%s; d=%s; s=%s;\r\n\tt=1764745200;\r\n\t"
           "h=%s;\r\n\tbh=%s;\r\n\tb=" % (hc, bc, d, s, ":".join(h), bh))
    data = b""
    used = set()
    for name in h:
        for i in range(len(fs) - 1, -1, -1):
            if i not in used and fs[i].split(b":", 1)[0].strip().lower() == name.encode():
                used.add(i)
                data += canon_header(hc, fs[i])
                break
    data += canon_header(hc, sig.encode() + b"\r\n")[:-2]
    b = base64.b64encode(key.sign(data, padding.PKCS1v15(), hashes.SHA256())).decode()
    folded = "\r\n\t ".join(b[i:i + 70] for i in range(0, len(b), 70))
    return sig.encode() + folded.encode() + b"\r\n" + msg

here = sys.path[0]
key = serialization.load_pem_private_key(open(here + "/test.private", "rb").read(), None)
msg = open(here + "/message.eml", "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
for hc in ("relaxed", "simple"):
    for bc in ("relaxed", "simple"):
        open("%s/signed-%s-%s.eml" % (here, hc, bc), "wb").write(sign(msg, key, hc, bc))
