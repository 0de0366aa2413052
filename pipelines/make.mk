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
