"""The CDK app and the build step that packages the Lambda code without Docker."""
