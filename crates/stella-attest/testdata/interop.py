"""Reference side of the DSSE / in-toto interoperability test (securesystemslib, in-toto,
in-toto-attestation from PyPI).

  interop.py verify ENVELOPE.json PUBLIC.pem...   verify a Stella envelope, validate its statement
  interop.py sign STATEMENT.json PRIVATE.pem OUT  sign a statement as securesystemslib does
"""
import hashlib
import json
import sys

from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)
from google.protobuf import json_format
from in_toto.models.metadata import Envelope
from in_toto_attestation.v1 import statement as st
from in_toto_attestation.v1 import statement_pb2
from securesystemslib.signer import CryptoSigner, SSlibKey


def verify(envelope_path, key_paths):
    with open(envelope_path, "rb") as f:
        env = Envelope.from_dict(json.load(f))
    keys = []
    for p in key_paths:
        with open(p, "rb") as f:
            public = load_pem_public_key(f.read())
        # securesystemslib only tries a key whose id equals the signature's keyid; Stella's key
        # id is the SHA-256 of the key's SPKI DER, computed here independently
        spki = public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        keys.append(SSlibKey.from_crypto(public, keyid=hashlib.sha256(spki).hexdigest()))
    # in-toto verifies through securesystemslib's DSSE implementation: raises unless 1 key signed
    env.verify(keys, 1)
    payload = json.loads(env.payload)
    pb = json_format.ParseDict(payload, statement_pb2.Statement())
    st.Statement.copy_from_pb(pb).validate()
    print(payload["predicateType"])


def sign(statement_path, key_path, out):
    with open(statement_path, "rb") as f:
        payload = f.read()
    with open(key_path, "rb") as f:
        signer = CryptoSigner(load_pem_private_key(f.read(), None))
    env = Envelope(payload=payload, payload_type="application/vnd.in-toto+json", signatures={})
    env.sign(signer)
    with open(out, "w") as f:
        json.dump(env.to_dict(), f)


if __name__ == "__main__":
    if sys.argv[1] == "verify":
        verify(sys.argv[2], sys.argv[3:])
    else:
        sign(sys.argv[2], sys.argv[3], sys.argv[4])
