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

# Each stage's parameter file is $(P)/NAME.txt, under the pipeline's OUT.
P = $(OUT)/params
# $(call params,NAME,TEXT): write a stage's parameter file when make reads
# the makefile (so make -n is exact), replacing it only when TEXT changed,
# so that its time says when the stage's parameters last changed and a
# target can depend on it.  make writes TEXT itself ($(file)): no shell
# sees it, so quotes, globs and parentheses in options are kept as they are.
define params
$(shell mkdir -p $(P))$(file >$(P)/$(1).txt.new,$(2))$(shell f=$(P)/$(1).txt; \
  if cmp -s $$f.new $$f; then rm $$f.new; else mv $$f.new $$f; fi)
endef
