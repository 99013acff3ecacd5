"""Device Registry: the code every Lambda function of the API ships with."""
