"""Sending: the signing secret for links and webhooks, and the sending permissions, scoped to
what the operator configured (SES sender identity, SNS for SMS, push platform applications)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from cdk_nag import NagSuppressions
from constructs import Construct, IConstruct


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


def _node(grantee: iam.IGrantable) -> IConstruct:
    """The role behind a grantee, where cdk-nag reads suppressions."""
    principal = grantee.grant_principal
    if not isinstance(principal, Construct):
        raise TypeError("grantee: needs a role defined in this app")
    return principal


class Delivery(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        sender_email: str | None,
        sms_origination: str | None,
        push_platform_applications: dict[str, str] | None = None,
        retain: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        self.sender_email = sender_email
        self.sms_origination = sms_origination
        self.push_platform_applications = dict(push_platform_applications or {})
        self.link_secret = listed_secret(
            self,
            "LinkSecret",
            description="asusual: signs why/unsubscribe links and (derived) webhooks; comma-separated, "
            "the first signs",
            retain=retain,
            rotation="Rotation is by prepending a new secret to the list (the first signs, all verify) "
            "so links already sent keep working until they expire; a Lambda rotation would invalidate "
            "them at once.",
        )

    def email_identity_arns(self) -> list[str]:
        """The SES identities a sender may use: the address itself and its verified domain."""
        if not self.sender_email:
            return []
        stack = Stack.of(self)
        identities = [self.sender_email]
        if "@" in self.sender_email:
            identities.append(self.sender_email.split("@", 1)[1])
        return [f"arn:{stack.partition}:ses:{stack.region}:{stack.account}:identity/{i}" for i in identities]

    def grant_secret(self, grantee: iam.IGrantable) -> None:
        self.link_secret.grant_read(grantee)

    def grant_send(self, grantee: iam.IGrantable) -> None:
        """Email from the configured identity; SMS through SNS when an origination is configured;
        push to the configured platform applications' endpoints."""
        emails = self.email_identity_arns()
        if emails:
            grantee.grant_principal.add_to_principal_policy(
                iam.PolicyStatement(actions=["ses:SendEmail", "ses:SendRawEmail"], resources=emails)
            )
        if self.sms_origination:
            # SNS publishes to a phone number, which has no ARN: IAM only accepts "*" for it; the
            # sender asks first whether the number opted out (SNS drops those without an error)
            grantee.grant_principal.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["sns:Publish", "sns:CheckIfPhoneNumberIsOptedOut"], resources=["*"]
                )
            )
            NagSuppressions.add_resource_suppressions(
                _node(grantee),
                [
                    {
                        "id": "AwsSolutions-IAM5",
                        "reason": "SNS SMS publishes to a phone number, not to a topic or endpoint ARN, "
                        "so sns:Publish for SMS can only be granted on '*'.",
                        "appliesTo": ["Resource::*"],
                    }
                ],
                apply_to_children=True,
            )
        if self.push_platform_applications:
            stack = Stack.of(self)
            applications = sorted(self.push_platform_applications.values())
            endpoints = [f"arn:{stack.partition}:sns:{stack.region}:{stack.account}:endpoint/*"]
            grantee.grant_principal.add_to_principal_policy(
                iam.PolicyStatement(actions=["sns:CreatePlatformEndpoint"], resources=applications)
            )
            grantee.grant_principal.add_to_principal_policy(
                iam.PolicyStatement(actions=["sns:Publish", "sns:GetEndpointAttributes"], resources=endpoints)
            )
            NagSuppressions.add_resource_suppressions(
                _node(grantee),
                [
                    {
                        "id": "AwsSolutions-IAM5",
                        "reason": "Push endpoints are created per device at send time "
                        "(CreatePlatformEndpoint), so their ARNs are only known as endpoint/*.",
                        "appliesTo": [{"regex": "/^Resource::arn:.*:sns:.*:endpoint/\\*$/"}],
                    }
                ],
                apply_to_children=True,
            )
