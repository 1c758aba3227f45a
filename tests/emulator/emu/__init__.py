"""cwemu: a local stand-in for CloudWatch, CloudWatch Logs, STS, EC2 DescribeTags, SSM GetParameter,
IMDSv2 and the ECS credentials endpoint. See ../README.md."""
