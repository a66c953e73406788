package catalog

import (
	"embed"
	"io/fs"
)

//go:embed icons/*.png
var iconFiles embed.FS

// Icons holds the provider icons shipped with kios, by file name (the
// Provider.Icon of the demo catalog's providers). The server serves them at
// /images/provider/<name>.
var Icons fs.FS = mustSub(iconFiles, "icons")

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // dir is a constant that the embed directive guarantees
	}
	return sub
}
