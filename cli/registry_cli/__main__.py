from registry_cli.main import run

run()
