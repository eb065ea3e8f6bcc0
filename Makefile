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
# a feed reader other than feedparser; the browser tests (tests/browser.py)
# run Debian's Chromium headless, and tests/test_browser_pages.py Firefox ESR
# too; tests/test_nginx.py serves the output with nginx and the README's
# lines.  All four come from the system's packages, installed in one go when
# any is missing (apt-get needs root; nginx lives in /usr/sbin, which a
# user's PATH may not hold).
test: $(BIN)/feedpub
	$(BIN)/ruff check
	$(BIN)/ruff format --check
	$(BIN)/mypy
	missing=; for tool in sfeed chromium firefox-esr nginx; do \
	  PATH="$$PATH:/usr/sbin" command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	test -z "$$missing" || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing)
	$(BIN)/python -m pytest -q

# Regenerate tests/golden/ after an intended change of output; review the diff.
golden: $(BIN)/feedpub
	$(BIN)/python -m tests.golden

clean:
	rm -rf $(VENV) *.egg-info
