"""Independent TDX quote parser (python3-cryptography) against `sealroom quote verify --json`.

Each test quote is parsed here by the documented offsets (docs/ATTESTATION.md), its
ECDSA signatures and the QE binding are checked with python3-cryptography, and every
field is compared with what the C verifier prints. A simulated quote is produced with
the CLI and checked the same way.
"""
import hashlib
import json
import os
import re
import struct
import subprocess
import sys

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

SEALROOM = os.environ["SEALROOM"]
TD = os.path.join(os.environ.get("SR_TESTDATA", "../shared/testdata"), "tdx")
NOW = "2026-02-01T00:00:00Z"
INTEL_VENDOR = bytes.fromhex("939A7233F79C4CA9940A0DB3957F0607")
FAILS = []


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL:", msg)


BODY_FIELDS = [  # name, size (TD report body, TDX 1.0)
    ("tee_tcb_svn", 16), ("mrseam", 48), ("mrsignerseam", 48), ("seam_attributes", 8),
    ("td_attributes", 8), ("xfam", 8), ("mrtd", 48), ("mrconfigid", 48), ("mrowner", 48),
    ("mrownerconfig", 48), ("rtmr0", 48), ("rtmr1", 48), ("rtmr2", 48), ("rtmr3", 48),
    ("report_data", 64),
]


def parse(buf):
    q = {}
    ver, akt, tee = struct.unpack_from("<HHI", buf, 0)
    q["version"], q["att_key_type"], q["tee_type"] = ver, akt, tee
    q["qe_vendor_id"] = buf[12:28]
    q["user_data"] = buf[28:48]
    off = 48
    if ver == 4:
        btype, bsize = 2, 584
    elif ver == 5:
        btype, bsize = struct.unpack_from("<HI", buf, 48)
        off = 54
    else:
        raise ValueError("version")
    q["body_type"], q["body_size"] = btype, bsize
    p = off
    for name, n in BODY_FIELDS:
        q[name] = buf[p:p + n]
        p += n
    if btype == 3:
        q["tee_tcb_svn2"] = buf[p:p + 16]
        q["mrservicetd"] = buf[p + 16:p + 64]
    signed_len = off + bsize
    q["signed"] = buf[:signed_len]
    (sdl,) = struct.unpack_from("<I", buf, signed_len)
    s = signed_len + 4
    end = s + sdl
    assert end <= len(buf)
    q["quote_len"] = end
    q["signature"] = buf[s:s + 64]
    q["attestation_key"] = buf[s + 64:s + 128]
    ct, csz = struct.unpack_from("<HI", buf, s + 128)
    assert ct == 6 and s + 134 + csz == end
    r = s + 134
    q["qe_report"] = buf[r:r + 384]
    q["qe_report_sig"] = buf[r + 384:r + 448]
    (alen,) = struct.unpack_from("<H", buf, r + 448)
    q["qe_auth"] = buf[r + 450:r + 450 + alen]
    c = r + 450 + alen
    ict, isz = struct.unpack_from("<HI", buf, c)
    assert ict == 5 and c + 6 + isz == end
    q["chain"] = buf[c + 6:c + 6 + isz]
    return q


def certs_of(chain):
    if chain.lstrip()[:1] == b"-":
        return [x509.load_pem_x509_certificate(m) for m in
                re.findall(rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", chain, re.S)]
    out, p = [], 0
    while p < len(chain):  # concatenated DER
        ln = chain[p + 1]
        if ln & 0x80:
            k = ln & 0x7F
            ln, hl = int.from_bytes(chain[p + 2:p + 2 + k], "big"), 2 + k
        else:
            hl = 2
        out.append(x509.load_der_x509_certificate(chain[p:p + hl + ln]))
        p += hl + ln
    return out


def leaf_of(certs):
    # leaf = the certificate that issued no other
    subjects = {c.issuer.rfc4514_string() for c in certs if c.issuer != c.subject}
    for c in certs:
        if c.subject.rfc4514_string() not in subjects and c.issuer != c.subject:
            return c
    raise ValueError("no leaf")


def fmspc_of(leaf):
    der = leaf.extensions.get_extension_for_oid(x509.ObjectIdentifier("1.2.840.113741.1.13.1")).value.value
    m = re.search(re.escape(bytes.fromhex("060a2a864886f84d010d0104")) + rb"\x04\x06(.{6})", der, re.S)
    return m.group(1).hex()


def ecdsa_ok(pub, sig, msg):
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    try:
        pub.verify(encode_dss_signature(r, s), msg, ec.ECDSA(hashes.SHA256()))
        return True
    except InvalidSignature:
        return False


def check_quote(path, extra_args, expect_verdict, now=NOW):
    name = os.path.basename(path)
    buf = open(path, "rb").read()
    q = parse(buf)
    # signatures and binding, independently
    ak = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + q["attestation_key"])
    check(ecdsa_ok(ak, q["signature"], q["signed"]), f"{name}: quote signature (python)")
    leaf = leaf_of(certs_of(q["chain"]))
    check(ecdsa_ok(leaf.public_key(), q["qe_report_sig"], q["qe_report"]), f"{name}: QE report signature (python)")
    h = hashlib.sha256(q["attestation_key"] + q["qe_auth"]).digest()
    check(q["qe_report"][320:352] == h and q["qe_report"][352:384] == bytes(32), f"{name}: QE binding (python)")
    check(q["qe_vendor_id"] == INTEL_VENDOR, f"{name}: vendor id")
    # the C verifier's view
    out = subprocess.run([SEALROOM, "quote", "verify", path, "--json"] + (["--now", now] if now else []) + extra_args,
                         capture_output=True, text=True)
    j = json.loads(out.stdout)
    check(j["verdict"] == expect_verdict, f"{name}: verdict {j['verdict']} ({j['reason']}), want {expect_verdict}")
    check(out.returncode == 0, f"{name}: exit code {out.returncode}: {out.stderr.strip()}")
    for k in ["version", "att_key_type", "body_type", "body_size", "quote_len"]:
        check(j[k] == q[k], f"{name}: {k} {j[k]} != {q[k]}")
    check(j["tee_type"] == "TDX" and q["tee_type"] == 0x81, f"{name}: tee type")
    check(j["signed_len"] == len(q["signed"]), f"{name}: signed_len")
    fields = [f for f, _ in BODY_FIELDS] + ["qe_vendor_id", "user_data", "attestation_key", "signature"]
    if q["body_type"] == 3:
        fields += ["tee_tcb_svn2", "mrservicetd"]
    for k in fields:
        check(j[k] == q[k].hex(), f"{name}: field {k} differs")
    check(j["qe_report"]["mrsigner"] == q["qe_report"][128:160].hex(), f"{name}: QE mrsigner")
    check(j["qe_report"]["isvsvn"] == struct.unpack_from("<H", q["qe_report"], 258)[0], f"{name}: QE isvsvn")
    check(j["fmspc"] == fmspc_of(leaf), f"{name}: fmspc {j['fmspc']} != {fmspc_of(leaf)}")
    td_attr = int.from_bytes(q["td_attributes"], "little")
    check(j["td_debug"] == bool(td_attr & 1), f"{name}: debug bit")
    print(f"ok   {name}: v{q['version']} body {q['body_type']} mrtd {q['mrtd'].hex()[:16]}... verdict {j['verdict']}")


def main():
    for f in ["v4_spr_e4", "v4_dcapqvl", "v4_dstack", "v5_tdx15"]:
        check_quote(os.path.join(TD, f + ".quote"), [], "valid")
    check_quote(os.path.join(TD, "synthetic_intel_test.quote"),
                ["--root", os.path.join(TD, "synthetic_intel_test_root.pem")], "valid")
    # the synthetic quote must fail against the production root
    r = subprocess.run([SEALROOM, "quote", "verify", os.path.join(TD, "synthetic_intel_test.quote"), "--now", NOW],
                       capture_output=True, text=True)
    check(r.returncode == 1, "synthetic quote accepted with the Intel root")

    # a simulated quote, produced by the CLI, read by this parser
    subprocess.run(["rm", "-rf", "simpy"], check=True)
    subprocess.run([SEALROOM, "quote", "sim-init", "simpy"], check=True, capture_output=True)
    rd = hashlib.sha512(b"report data").hexdigest()
    subprocess.run([SEALROOM, "quote", "sim-extend", "simpy", "--event", "compose-hash", "--payload",
                    hashlib.sha256(b"recipe").hexdigest()], check=True)
    subprocess.run([SEALROOM, "quote", "sim-quote", "simpy", "--report-data", rd, "-o", "sim.quote"], check=True)
    root = subprocess.run([SEALROOM, "quote", "sim-root", "simpy"], check=True, capture_output=True).stdout
    open("simroot.pem", "wb").write(root)
    check(b"SIMULATED" in x509.load_pem_x509_certificate(root).subject.rfc4514_string().encode(), "sim root CN")
    check_quote("sim.quote", ["--root", "simroot.pem", "--allow-simulated"], "simulated", now=None)
    q = parse(open("sim.quote", "rb").read())
    check(q["report_data"].hex() == rd, "sim report data")
    # RTMR3 = SHA384(0^48 || SHA384(u32le(12) || "compose-hash" || payload))
    payload = hashlib.sha256(b"recipe").digest()
    d = hashlib.sha384(struct.pack("<I", 12) + b"compose-hash" + payload).digest()
    check(q["rtmr3"] == hashlib.sha384(bytes(48) + d).digest(), "sim RTMR3 replay (python)")
    if FAILS:
        print(f"{len(FAILS)} failures")
        sys.exit(1)
    print("all quote fields agree")


if __name__ == "__main__":
    main()
