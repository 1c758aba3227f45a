"""SigV4 verification: the signature is recomputed with botocore's own SigV4Auth (canonical request,
string to sign, signature) over exactly the headers named in SignedHeaders, with the key's known
secret, the request's own X-Amz-Date and the region/service of its credential scope."""
import calendar
import datetime
import email.utils
import hashlib
import hmac
from urllib.parse import unquote

from .errors import common

SIGV4_FMT = "%Y%m%dT%H%M%SZ"


def _parse_authorization(value, protocol):
    if not value.startswith("AWS4-HMAC-SHA256 "):
        raise common("incomplete", protocol, "Unsupported authorization algorithm; expected AWS4-HMAC-SHA256")
    fields = {}
    for part in value[len("AWS4-HMAC-SHA256 "):].split(","):
        k, sep, v = part.strip().partition("=")
        if sep:
            fields[k] = v
    for need in ("Credential", "SignedHeaders", "Signature"):
        if not fields.get(need):
            raise common("incomplete", protocol, "Authorization header requires '%s' parameter. "
                         "Authorization=%s" % (need, value[:200]))
    scope = fields["Credential"].split("/")
    if len(scope) != 5:
        raise common("incomplete", protocol, "Authorization header requires a valid Credential: %s"
                     % fields["Credential"][:200])
    return scope, fields["SignedHeaders"].split(";"), fields["Signature"]


def _request_time(req, protocol):
    """(X-Amz-Date string in SigV4 format, epoch seconds, header name used)."""
    amz = req.header("x-amz-date")
    if amz is not None:
        try:
            t = datetime.datetime.strptime(amz, SIGV4_FMT)
        except ValueError:
            raise common("incomplete", protocol, "X-Amz-Date must be in the ISO8601 Long Format "
                         "\"yyyyMMdd'T'HHmmss'Z'\"; got '%s'" % amz[:40]) from None
        return amz, calendar.timegm(t.timetuple()), "x-amz-date"
    date = req.header("date")
    parsed = email.utils.parsedate_tz(date) if date else None
    if not parsed:
        raise common("incomplete", protocol, "Authorization header requires existence of either a "
                     "'X-Amz-Date' or a 'Date' header.")
    epoch = email.utils.mktime_tz(parsed)
    return time_fmt(epoch), epoch, "date"


def time_fmt(epoch):
    return datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc).strftime(SIGV4_FMT)


def check_service(scope_service, service, protocol):
    """The credential scope must name the service the request was routed to."""
    if scope_service != service:
        raise common("bad_signature", protocol, "Credential should be scoped to correct service: '%s'." % service)


def _check_scope(scope, amz_date, region, protocol):
    """region None accepts any region."""
    _, day, sregion, _, term = scope
    bad = lambda msg: common("bad_signature", protocol, msg)  # noqa: E731
    if term != "aws4_request":
        raise bad("Credential should be scoped with a valid terminator: 'aws4_request', not '%s'." % term)
    if day != amz_date[:8]:
        raise bad("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                  "from HTTP: '%s' != '%s', from '%s'." % (day, amz_date[:8], amz_date))
    if region is not None and region != sregion:
        raise bad("Credential should be scoped to a valid region, not '%s'." % sregion)


def _check_token(cred, req, protocol):
    token = req.header("x-amz-security-token")
    if cred.token is None:
        if token is not None:
            raise common("unknown_key", protocol)
    elif token is None or not hmac.compare_digest(token.encode(), cred.token.encode()):
        raise common("unknown_key", protocol)


def _botocore_signature(req, cred, scope, names, amz_date):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.compat import HTTPHeaders
    from botocore.credentials import Credentials

    class Verifier(SigV4Auth):
        def headers_to_sign(self, request):
            hm = HTTPHeaders()
            for n in names:
                for v in request.headers.get_all(n) or []:
                    hm[n] = v
            return hm

    headers = HTTPHeaders()
    for k, v in req.headers:
        headers[k] = v
    params = []
    for pair in req.raw_query.split("&") if req.raw_query else []:
        k, _, v = pair.partition("=")
        params.append((unquote(k), unquote(v)))
    areq = AWSRequest(method=req.method, url="http://%s%s" % (req.header("host") or "localhost", req.raw_path),
                      data=req.body, params=params)
    areq.headers = headers
    areq.context["timestamp"] = amz_date
    signer = Verifier(Credentials(cred.key_id, cred.secret, cred.token), scope[3], scope[2])
    canonical = signer.canonical_request(areq)
    return signer.signature(signer.string_to_sign(areq, canonical), areq)


def _check_skew(epoch, amz_date, now, max_skew, protocol):
    if epoch < now - max_skew:
        raise common("skew", protocol, "Signature expired: %s is now earlier than %s (%s - %d min.)" % (
            amz_date, time_fmt(now - max_skew), time_fmt(now), max_skew // 60))
    if epoch > now + max_skew:
        raise common("skew", protocol, "Signature not yet current: %s is still later than %s (%s + %d min.)"
                     % (amz_date, time_fmt(now + max_skew), time_fmt(now), max_skew // 60))


def verify(req, store, protocol):
    """Returns (Cred that signed `req`, service named in its scope), or raises the ApiError AWS
    would answer with. The caller checks the scope's service with check_service() once routed."""
    auth = req.header("authorization")
    if not auth:
        raise common("missing_auth", protocol)
    scope, names, signature = _parse_authorization(auth, protocol)
    names = [n.strip().lower() for n in names]
    amz_date, epoch, date_hdr = _request_time(req, protocol)
    if "host" not in names or date_hdr not in names:
        raise common("incomplete", protocol, "SignedHeaders must include 'host' and '%s'." % date_hdr)
    cred = store.lookup(scope[0])
    if cred is None:
        raise common("unknown_key", protocol)
    _check_token(cred, req, protocol)
    _check_scope(scope, amz_date, None if store.any_region else store.region, protocol)
    sha = req.header("x-amz-content-sha256")
    if sha is not None and sha != hashlib.sha256(req.body).hexdigest():
        raise common("bad_signature", protocol, "The provided 'x-amz-content-sha256' header does not "
                     "match what was computed.")
    want = _botocore_signature(req, cred, scope, names, amz_date)
    if not hmac.compare_digest(want, signature):
        raise common("bad_signature", protocol)
    now = store.now()
    _check_skew(epoch, amz_date, now, store.config["max_skew"], protocol)
    if cred.expires is not None and cred.expires <= now:
        raise common("expired_token", protocol)
    return cred, scope[3]
