"""DynamoDB: the key schema, the item codec, the device and credential stores, the schema migrations."""
