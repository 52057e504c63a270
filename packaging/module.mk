# packaging/: man pages (doc/man/*.scd, built with scdoc), the data files that
# `make install` adds to the binaries (config, systemd units, sysusers and
# tmpfiles entries, examples, Prometheus alert rules), and the Debian and RPM packages. See
# packaging/README.md.

SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/mpp
DATADIR ?= $(PREFIX)/share/mpp

# doc/man/NAME.SECTION.scd -> $(BUILD)/man/NAME.SECTION
MAN_SRCS := $(wildcard doc/man/*.scd)
MAN_PAGES := $(MAN_SRCS:doc/man/%.scd=$(BUILD)/man/%)

.PHONY: man install-data

man: $(MAN_PAGES)

$(BUILD)/man/%: doc/man/%.scd VERSION
	@mkdir -p $(@D)
	sed 's/@VERSION@/$(VERSION)/g' $< | scdoc > $@.tmp
	mv $@.tmp $@

$(BUILD)/packaging/%: packaging/systemd/%
	@mkdir -p $(@D)
	sed 's|@SBINDIR@|$(SBINDIR)|g' $< > $@

UNITS := $(BUILD)/packaging/mppstate.service $(BUILD)/packaging/mpp-ipvs.service

install: install-data

# An existing config is never overwritten (a second `make install`).
install-data: $(MAN_PAGES) $(UNITS)
	install -d $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) \
	  $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(DOCDIR)/examples \
	  $(DESTDIR)$(SYSCONFDIR)/mpp $(DESTDIR)$(DATADIR)/prometheus
	install -m 0644 $(filter %.5,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 $(filter %.8,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(UNITS) $(DESTDIR)$(UNITDIR)/
	install -m 0644 packaging/mpp.sysusers $(DESTDIR)$(SYSUSERSDIR)/mpp.conf
	install -m 0644 packaging/mpp-ipvs.sysusers $(DESTDIR)$(SYSUSERSDIR)/mpp-ipvs.conf
	install -m 0644 packaging/mpp.tmpfiles $(DESTDIR)$(TMPFILESDIR)/mpp.conf
	install -m 0644 packaging/client.cnf $(DESTDIR)$(DOCDIR)/examples/client.cnf
	install -m 0644 packaging/prometheus/mpp-rules.yml $(DESTDIR)$(DATADIR)/prometheus/mpp-rules.yml
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/mpp/mppstate.ini ]; then \
	  echo "keeping $(DESTDIR)$(SYSCONFDIR)/mpp/mppstate.ini"; \
	else \
	  echo "install -m 0644 packaging/mppstate.ini $(DESTDIR)$(SYSCONFDIR)/mpp/mppstate.ini"; \
	  install -m 0644 packaging/mppstate.ini $(DESTDIR)$(SYSCONFDIR)/mpp/mppstate.ini; \
	fi

# Both build from a copy of the tree into packaging/out/; the version comes
# from VERSION.
deb:
	packaging/build-deb

rpm:
	packaging/build-rpm
