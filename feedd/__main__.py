from feedd.cli import main

main()
