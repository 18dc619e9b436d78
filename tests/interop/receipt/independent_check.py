"""An independent re-implementation (Python, hashlib + python3-ecdsa) of the receipt checks that
need no X.509 chain, from docs/RECEIPT.md, docs/PROTOCOL.md and docs/ATTESTATION.md only:
payload hash, statement signature, envelope hashes, compose hash, REPORTDATA, RTMR3 replay and
the KMS certificate signature and fields. Usage: independent_check.py RECEIPT.json KMS_ROOT_HEX.
Exits non-zero (AssertionError) on the first mismatch; run by test_verify_cli.sh."""
import base64
import hashlib
import json
import struct
import sys

from ecdsa import SECP256k1, VerifyingKey
from ecdsa.util import sigdecode_string

r = json.load(open(sys.argv[1]))
kms_root = bytes.fromhex(sys.argv[2])
N = SECP256k1.order


def sha256(b):
    return hashlib.sha256(b).digest()


def check_sig(pub33, digest, sig65, what):
    assert len(sig65) == 65 and sig65[64] in (27, 28), what + ": v"
    s = int.from_bytes(sig65[32:64], "big")
    assert 0 < s <= N // 2, what + ": high s"
    vk = VerifyingKey.from_string(pub33, curve=SECP256k1)
    assert vk.verify_digest(sig65[:64], digest, sigdecode=sigdecode_string), what
    # the recovery id selects this key among the candidates
    cands = VerifyingKey.from_public_key_recovery_with_digest(sig65[:64], digest, SECP256k1,
                                                              sigdecode=sigdecode_string)
    assert cands[sig65[64] - 27].to_string("compressed") == pub33, what + ": recovery id"


assert r["format"] == "sealroom-receipt" and r["version"] == 1
stext = r["statement"]
st = json.loads(stext)
payload = r["payload"].encode()
assert sha256(payload).hex() == st["payload_sha256"], "payload-hash"
cvm = bytes.fromhex(r["cvm_pubkey"])
assert st["cvm_pubkey"] == r["cvm_pubkey"]
check_sig(cvm, sha256(b"sealroom/v1/receipt" + stext.encode()), bytes.fromhex(r["signature"][2:]),
          "payload-signature")

recipe = base64.b64decode(r["recipe"])
compose = sha256(recipe)
assert st["compose_hash"] == "0x" + compose.hex(), "compose hash"
quote = bytes.fromhex(r["quote"])
assert sha256(quote).hex() == st["quote_sha256"], "quote_sha256"
cert = r["kms_certificate"]
assert sha256(cert["payload"].encode()).hex() == st["kms_certificate_sha256"], "kms_certificate_sha256"
assert r["tee"] == st["tee"]

# the quote body (v4: right after the 48-byte header; v5: after a 6-byte descriptor)
version = struct.unpack_from("<H", quote, 0)[0]
body = 48 if version == 4 else 54
rtmr3 = quote[body + 328 + 3 * 48: body + 328 + 4 * 48]
report_data = quote[body + 520: body + 584]
nonce = bytes.fromhex(r["kms_nonce"])
want = sha256(b"sealroom/v1/kms-request" + compose + cvm + nonce) + bytes(32)
assert report_data == want, "report-data"

# RTMR3 replay
R = bytes(48)
last_compose = None
for line in r["event_log"].splitlines():
    if not line.strip():
        continue
    e = json.loads(line)
    name, pl = e["event"].encode(), bytes.fromhex(e["payload"])
    d = hashlib.sha384(struct.pack("<I", len(name)) + name + pl).digest()
    assert d.hex() == e["digest"].lower().removeprefix("0x"), "event digest"
    R = hashlib.sha384(R + d).digest()
    if e["event"] == "compose-hash":
        last_compose = pl
assert R == rtmr3, "rtmr3-replay"
assert last_compose == compose, "compose-hash event"

# KMS certificate
check_sig(kms_root, sha256(b"sealroom/v1/kms-certificate" + cert["payload"].encode()),
          bytes.fromhex(cert["signature"][2:]), "kms-certificate")
c = json.loads(cert["payload"])
assert c["kms_pubkey"] == kms_root.hex() and c["client_pubkey"] == r["cvm_pubkey"]
assert c["compose_hash"] == st["compose_hash"]
assert c["gate"] == st["gate"], "gate snapshot"
assert sorted(c["datasets"]) == sorted(i["owner_id"] + "/" + i["archive_id"] for i in st["inputs"])
assert c["issued_at"] <= st["created"]
assert c["tee"] == ("simulated" if r["tee"] == "simulated" else "valid")
# the KMS's own TCB evaluation; a simulated quote has no collateral to evaluate
assert c["tcb_status"] == "NotEvaluated" or r["tee"] != "simulated", "kms tcb_status"
assert set(json.loads(payload)["outputs"]) == {o["name"] for o in json.loads(recipe)["outputs"]}
print("independent check: ok")
