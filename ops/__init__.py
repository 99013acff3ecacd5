"""Operating a deployed stage from a workstation: ``python -m ops.preflight`` before ``cdk deploy``
(what in the account would make it fail), ``python -m ops.smoke`` after it (the public API proven
end to end). Neither is Lambda code: they run where the deploying credentials are."""
