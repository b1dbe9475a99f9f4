from antin.cli import main

main()
