"""Sending permissions, scoped to the identities the operator configured (SES sender, SMS
origination identity). The dispatcher (delivery issue) is granted through here."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct


class Delivery(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, sender_email: str | None, sms_origination: str | None
    ) -> None:
        super().__init__(scope, construct_id)
        self.sender_email = sender_email
        self.sms_origination = sms_origination

    def email_identity_arns(self) -> list[str]:
        """The SES identities a sender may use: the address itself and its verified domain."""
        if not self.sender_email:
            return []
        stack = Stack.of(self)
        identities = [self.sender_email]
        if "@" in self.sender_email:
            identities.append(self.sender_email.split("@", 1)[1])
        return [f"arn:{stack.partition}:ses:{stack.region}:{stack.account}:identity/{i}" for i in identities]

    def sms_identity_arn(self) -> str | None:
        if not self.sms_origination:
            return None
        if self.sms_origination.startswith("arn:"):
            return self.sms_origination
        stack = Stack.of(self)
        return f"arn:{stack.partition}:sms-voice:{stack.region}:{stack.account}:phone-number/*"

    def grant_send(self, grantee: iam.IGrantable) -> None:
        """Allow sending email from the configured identity and SMS from the configured origination."""
        emails = self.email_identity_arns()
        if emails:
            grantee.grant_principal.add_to_principal_policy(
                iam.PolicyStatement(actions=["ses:SendEmail", "ses:SendRawEmail"], resources=emails)
            )
        sms = self.sms_identity_arn()
        if sms:
            grantee.grant_principal.add_to_principal_policy(
                iam.PolicyStatement(actions=["sms-voice:SendTextMessage"], resources=[sms])
            )
