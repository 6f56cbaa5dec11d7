"""Adapters over AWS services: catalog (DynamoDB), object storage (S3), schema registry."""
