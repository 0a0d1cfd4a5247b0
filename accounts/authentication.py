"""How API clients prove who they are: an API token in the ``Authorization`` header."""

from rest_framework import authentication
from rest_framework.exceptions import AuthenticationFailed

# DRF's own word, and RFC 6750's, which most HTTP tools and libraries send.
SCHEMES = (b"token", b"bearer")


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication, taking ``Authorization: Bearer <token>`` like
    ``Authorization: Token <token>``."""

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() not in SCHEMES:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Invalid token header: send 'Token <token>' or 'Bearer <token>'.")
        try:
            key = parts[1].decode()
        except UnicodeError:
            raise AuthenticationFailed("Invalid token header: the token holds characters a token never has.") from None
        return self.authenticate_credentials(key)
