"""Privacy: the key that hashes the identifiers of erased people (the suppression list), readable
only by the functions that suppress (profiles_api: erasure) and match (event_processor)."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.foundation.secrets import listed_secret

SECRET_VARIABLE = "ASUSUAL_SUPPRESSION_SECRETS_ARN"  # noqa: S105 - the variable naming the secret


class Privacy(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, retain: bool = False) -> None:
        super().__init__(scope, construct_id)
        # kept even when the stack goes (prod): without it no suppression could be matched again
        self.suppression_secret = listed_secret(
            self,
            "SuppressionSecret",
            description="asusual: keys of the HMAC that remembers erased identifiers; comma-separated, "
            "the first hashes, all match",
            retain=retain,
            rotation="A hash cannot be re-keyed without the identifier it hides, which is erased: rotation "
            "prepends a new key and keeps the old ones for matching (docs/privacy.md). A Lambda rotation "
            "replacing the key would lift every suppression at once.",
        )

    def environment(self) -> dict[str, str]:
        return {SECRET_VARIABLE: self.suppression_secret.secret_arn}

    def grant_suppression(self, grantee: iam.IGrantable) -> None:
        self.suppression_secret.grant_read(grantee)
