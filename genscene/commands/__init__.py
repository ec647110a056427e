"""Sub-commands of the ``genscene`` CLI, one module each."""
