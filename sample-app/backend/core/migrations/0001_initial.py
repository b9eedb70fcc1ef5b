# The sample app's first migration: showmigrations --plan lists it as applied.
