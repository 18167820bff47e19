from oauth2_provider.oauth2_validators import OAuth2Validator


class ClaimsValidator(OAuth2Validator):
    """The claims a company directory gives: the address, that it is verified, the name."""

    oidc_claim_scope = None  # every claim below, whatever the scope

    def get_additional_claims(self, request):  # type: ignore[no-untyped-def]
        user = request.user
        return {
            "email": user.email,
            "email_verified": True,
            "name": f"{user.first_name} {user.last_name}".strip(),
            "given_name": user.first_name,
            "family_name": user.last_name,
        }
