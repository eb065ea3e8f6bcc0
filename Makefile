# The two commands a new checkout needs:
#   make feeds   set up .venv and build the feeds from seeds/ into feeds/
#   make test    set up .venv with the test tools and run the whole suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: feeds test golden clean

$(BIN)/feedpub: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
# (Not indented, so make reads these lines as its own comments and does not
# echo them.)  An editable install leaves the sources uncompiled; where Python
# may not write bytecode itself, every run would compile them at start-up.
	$(BIN)/python -m compileall -q feedpub
	touch $@

feeds: $(BIN)/feedpub
	$(BIN)/feedpub build

# The lint, the format and the types are checked before the suite: any
# failure fails the target.  tests/test_readers.py reads the feeds with sfeed,
# a feed reader other than feedparser, and tests/test_nginx.py serves them
# with nginx and the README's lines, both from the system's packages (apt-get
# needs root; nginx lives in /usr/sbin).
test: $(BIN)/feedpub
	$(BIN)/ruff check
	$(BIN)/ruff format --check
	$(BIN)/mypy
	command -v sfeed >/dev/null || (apt-get update && apt-get install -y --no-install-recommends sfeed)
	PATH="$$PATH:/usr/sbin" command -v nginx >/dev/null || (apt-get update && apt-get install -y --no-install-recommends nginx)
	$(BIN)/python -m pytest -q

# Regenerate tests/golden/ after an intended change of output; review the diff.
golden: $(BIN)/feedpub
	$(BIN)/python -m tests.golden

clean:
	rm -rf $(VENV) *.egg-info
