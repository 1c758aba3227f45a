"""API errors and the per-protocol names of the common (auth, transport) errors."""


class ApiError(Exception):
    """An error answered to the client in the service's own error shape.

    code: the awsQuery / EC2 wire code (e.g. InvalidParameterValue); json_type: the JSON __type
    (e.g. InvalidParameterValueException), defaults to code; status: HTTP status; fault: Sender|Receiver.
    """

    def __init__(self, code, message, status=400, json_type=None, fault=None, headers=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.json_type = json_type or code
        self.fault = fault or ("Receiver" if status >= 500 else "Sender")
        self.headers = headers or {}


# kind -> (query code, json type, query status, json status, message)
_COMMON = {
    "missing_auth": ("MissingAuthenticationToken", "MissingAuthenticationTokenException", 403, 403,
                     "Request is missing Authentication Token"),
    "unknown_key": ("InvalidClientTokenId", "UnrecognizedClientException", 403, 400,
                    "The security token included in the request is invalid."),
    "bad_signature": ("SignatureDoesNotMatch", "InvalidSignatureException", 403, 400,
                      "The request signature we calculated does not match the signature you provided. "
                      "Check your AWS Secret Access Key and signing method. Consult the service "
                      "documentation for details."),
    "expired_token": ("ExpiredToken", "ExpiredTokenException", 403, 400,
                      "The security token included in the request is expired"),
    "incomplete": ("IncompleteSignature", "IncompleteSignatureException", 400, 400, "Incomplete signature"),
    "skew": ("SignatureDoesNotMatch", "InvalidSignatureException", 403, 400, "Signature expired"),
    "malformed": ("MalformedHttpRequestException", "MalformedHttpRequestException", 400, 400,
                  "Malformed request"),
    "too_large": ("RequestEntityTooLarge", "RequestEntityTooLargeException", 413, 413,
                  "Request entity too large"),
    "serialization": ("MalformedQueryString", "SerializationException", 400, 400, "Malformed input"),
}

# EC2 uses its own names for a few of them.
_EC2 = {"unknown_key": ("AuthFailure", 401), "skew": ("RequestExpired", 400),
        "missing_auth": ("MissingAuthenticationToken", 401)}


def common(kind, protocol, message=None, service=None):
    """Returns the ApiError for a common error kind in the given protocol ('query'|'json'|'ec2')."""
    qcode, jtype, qstatus, jstatus, default = _COMMON[kind]
    msg = message or default
    if protocol == "ec2" and kind in _EC2:
        code, status = _EC2[kind]
        return ApiError(code, msg, status)
    if protocol == "json":
        return ApiError(qcode, msg, jstatus, json_type=jtype)
    return ApiError(qcode, msg, qstatus, json_type=jtype)


# Faults on demand: service -> mode -> (code, json type, status, message)
_FAULTS = {
    "monitoring": {"throttle": ("Throttling", "ThrottlingException", 400, "Rate exceeded"),
                   "500": ("InternalServiceError", "InternalServiceFault", 500, "Internal service error"),
                   "503": ("ServiceUnavailable", "ServiceUnavailableException", 503, "Service unavailable")},
    "logs": {"throttle": ("ThrottlingException", "ThrottlingException", 400, "Rate exceeded"),
             "500": ("InternalServerException", "InternalServerException", 500, "Internal server error"),
             "503": ("ServiceUnavailableException", "ServiceUnavailableException", 503,
                     "The service cannot complete the request.")},
    "sts": {"throttle": ("Throttling", "Throttling", 400, "Rate exceeded"),
            "500": ("InternalFailure", "InternalFailure", 500, "Internal failure"),
            "503": ("ServiceUnavailable", "ServiceUnavailable", 503, "Service unavailable")},
    "ec2": {"throttle": ("RequestLimitExceeded", "RequestLimitExceeded", 503, "Request limit exceeded."),
            "500": ("InternalError", "InternalError", 500, "An internal error has occurred"),
            "503": ("Unavailable", "Unavailable", 503, "The server is overloaded")},
    "ssm": {"throttle": ("ThrottlingException", "ThrottlingException", 400, "Rate exceeded"),
            "500": ("InternalServerError", "InternalServerError", 500, "Internal server error"),
            "503": ("ServiceUnavailable", "ServiceUnavailable", 503, "Service unavailable")},
}


def fault(service, mode):
    """Returns the ApiError a fault mode (throttle|500|503) produces for a service."""
    code, jtype, status, msg = _FAULTS.get(service, _FAULTS["monitoring"])[mode]
    return ApiError(code, msg, status, json_type=jtype)
