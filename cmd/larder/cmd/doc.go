// Package cmd holds larder's cobra commands, one file per verb. Commands
// parse flags, load larder.toml, draw progress and map errors to exit
// codes; the work itself lives in the resolver, wheelhouse, layers and
// images packages.
package cmd
