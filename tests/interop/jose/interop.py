"""chainsts <-> PyJWT / jwcrypto interop (run by run.sh)."""
import json
import sys
import time
import urllib.request

import jwt as pyjwt
from jwcrypto import jwk, jwt as cjwt

base, peer_key_file = sys.argv[1], sys.argv[2]


def post(body):
    req = urllib.request.Request(base + "/sts/v1/request", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def check(cond, msg):
    if not cond:
        print("FAIL:", msg)
        sys.exit(1)
    print("ok:", msg)


# 1. chainsts issues; PyJWT verifies against /jwks.json fetched over HTTP.
tok = post({"request_type": "issue", "applies_to": "urn:interop:issue"})["token"]
client = pyjwt.PyJWKClient(base + "/jwks.json")
key = client.get_signing_key_from_jwt(tok)
claims = pyjwt.decode(tok, key.key, algorithms=["ES256"], audience="python", issuer="https://chainsts.interop")
check(claims["sub"] == "interop-user" and isinstance(claims["exp"], int), "PyJWT verifies a chainsts ES256 token via /jwks.json")

# The same with jwcrypto, from the raw JWK Set.
with urllib.request.urlopen(base + "/jwks.json", timeout=10) as r:
    cache = r.headers.get("Cache-Control", "")
    keyset = jwk.JWKSet.from_json(r.read())
check("max-age" in cache and "public" in cache, "JWKS has Cache-Control public, max-age (%s)" % cache)
for k in json.loads(keyset.export(private_keys=False))["keys"]:
    check("d" not in k and k.get("kid") and k.get("alg") and k.get("use") == "sig", "JWKS key %s has kid/alg/use and no private part" % k.get("kid"))
t = cjwt.JWT(jwt=tok, key=keyset, algs=["ES256"])
check(json.loads(t.claims)["iss"] == "https://chainsts.interop", "jwcrypto verifies the same token")

# 2. jwcrypto signs; chainsts validates it and re-issues its own token.
peer = jwk.JWK.from_pem(open(peer_key_file, "rb").read())
now = int(time.time())
mine = cjwt.JWT(header={"alg": "ES256", "typ": "JWT"},
                claims={"iss": "https://python.interop", "aud": "chainsts", "sub": "py-user",
                        "iat": now, "exp": now + 300, "amount": 12.5, "tags": ["a", "b"]})
mine.make_signed_token(peer)
out = post({"request_type": "validate", "applies_to": "urn:interop:exchange", "token": mine.serialize()})
claims = pyjwt.decode(out["token"], client.get_signing_key_from_jwt(out["token"]).key, algorithms=["ES256"], audience="python")
check(claims["sub"] == "py-user", "chainsts validates a jwcrypto token and re-issues for its subject")
check(claims["amount"] == 12.5 and claims["tags"] == ["a", "b"], "claim JSON types survive validate -> issue (number, array)")

# 3. A tampered peer token is refused.
bad = mine.serialize()[:-4] + ("AAAA" if not mine.serialize().endswith("AAAA") else "BBBB")
try:
    post({"request_type": "validate", "applies_to": "urn:interop:exchange", "token": bad})
    check(False, "tampered token refused")
except urllib.error.HTTPError as e:
    check(e.code == 400, "tampered token refused with %d" % e.code)
print("jose interop: all checks passed")
