from vmsscli.cli.main import main

main()
