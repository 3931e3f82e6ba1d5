//go:build ignore

// generate.go regenerates the spoken explanations of the person's view
// with espeak-ng, for every language it speaks (web/internal/spoken):
//
//	go run ./web/audio/generate.go            # from the repository's root
//
// It needs espeak-ng and opusenc (Debian: apt-get install espeak-ng
// opus-tools) and writes web/audio/<lang>/<key>.ogg.
package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"

	"baluchon/web/internal/spoken"
)

func main() {
	langs := slices.Sorted(maps.Keys(spoken.Voices))
	if len(os.Args) > 1 {
		langs = os.Args[1:]
	}
	for _, l := range langs {
		if err := spoken.Generate(context.Background(), "web/personlocales", "web/audio", l); err != nil {
			fmt.Fprintln(os.Stderr, "generate:", err)
			os.Exit(1)
		}
		fmt.Println("audio:", l)
	}
}
