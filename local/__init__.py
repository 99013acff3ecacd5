"""The local server: the API's own handlers behind HTTP, on an embedded DynamoDB."""
