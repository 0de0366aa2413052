# What every pipeline's makefile starts with: recipes run by bash and stop at
# the first failing command, a pipe's included; a target whose recipe fails
# is deleted, so a rerun never takes a partial file for a good one; no
# built-in rules or variables, so make does only what the file says.
# Included first, as $(dir $(lastword $(MAKEFILE_LIST)))make.mk.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules --no-builtin-variables
.SUFFIXES:

# For lists: $(subst $(space),$(comma),a b) is a,b.
comma := ,
space := $(subst ,, )

# $(call params,NAME,WORDS): a stage's parameter file, $(P)/NAME.txt, with
# one word a line.  Written when make reads the makefile (so make -n is
# exact) and replaced only when its text changes, so its time says when the
# stage's parameters last changed and a target can depend on it.
define params
$(shell mkdir -p $(P) && f=$(P)/$(1).txt && printf '%s\n' $(2) > $$f.new && \
  if cmp -s $$f.new $$f; then rm $$f.new; else mv $$f.new $$f; fi)
endef
