"""Bridges to other tools: SCIM 2.0, dlt, Parquet. Each needs its optional extra."""
