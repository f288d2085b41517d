"""Secrets that hold a list of keys, rotated by prepending (the link and suppression secrets)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_secretsmanager as secretsmanager
from cdk_nag import NagSuppressions
from constructs import Construct


def listed_secret(
    scope: Construct, construct_id: str, *, description: str, retain: bool, rotation: str
) -> secretsmanager.Secret:
    """A generated secret that holds a comma-separated list of keys (the first one is used for
    new work, every one is accepted), rotated by prepending: ``rotation`` says why not by Lambda."""
    secret = secretsmanager.Secret(
        scope,
        construct_id,
        description=description,
        generate_secret_string=secretsmanager.SecretStringGenerator(
            password_length=48, exclude_punctuation=True
        ),
        removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
    )
    NagSuppressions.add_resource_suppressions(secret, [{"id": "AwsSolutions-SMG4", "reason": rotation}])
    return secret
