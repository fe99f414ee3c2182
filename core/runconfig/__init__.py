"""The run configuration: the option table (one ``RunConfig`` field per option), the kinds of values an
option takes, the ``hub run`` flags derived from it, and saved configs of run folders. Standard library only
at import, so any layer (data, inference, parallel, submission, runner, commands) may use it."""
