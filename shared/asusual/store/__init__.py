"""AWS adapters for data: DynamoDB repositories and the SQS publisher. The only boto3 for data."""
