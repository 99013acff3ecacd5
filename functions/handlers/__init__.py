"""One module per route: each is a Lambda function's entry point (``lambda_handler``)."""
