"""The application layer both front doors call: units of work (`session`) and the operations
a command or a request runs through them (`compute`). Nothing here prints, parses arguments
or speaks HTTP."""
