"""Writes the signing fixtures with privacyIDEA's own algorithms (run once; the outputs are committed).

- test-private.pem / test-public.pem: privacyidea.lib.crypto.generate_keypair (PKCS#1 PEM, 2048 bits).
- 97-audit.canonical.txt: json.dumps(response, sort_keys=True) of capture 97 without its signature
  (what privacyidea.api.lib.postpolicy.sign_response signs).
- 97-audit.signed.json: capture 97's response with a nonce echoed and signed by privacyidea.lib.crypto.Sign.sign
  with the test key.
"""
import binascii
import json

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
open("test-private.pem", "wb").write(key.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
open("test-public.pem", "wb").write(key.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.PKCS1))


def sign(s):
    sig = key.sign(s.encode(), padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH),
                   hashes.SHA256())
    return "rsa_sha256_pss:" + binascii.hexlify(sig).decode()


content = json.load(open("97-audit.json"))["response"]
del content["signature"]
open("97-audit.canonical.txt", "w").write(json.dumps(content, sort_keys=True))
content["nonce"] = "n\u00f6nce-12345"
content["signature"] = sign(json.dumps(content, sort_keys=True))
open("97-audit.signed.json", "w").write(json.dumps(content))
