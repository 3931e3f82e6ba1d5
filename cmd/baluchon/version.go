package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set at link time by the release build (.goreleaser.yaml):
//
//	-ldflags "-X main.version=1.2.0 -X main.commit=abc123 -X main.date=2026-11-27T05:00:00Z"
//
// A binary built otherwise (go build, go install) takes them from the
// build information Go records (buildInfo).
var (
	version = ""
	commit  = ""
	date    = ""
)

// buildVersion is what 'baluchon version' prints.
type buildVersion struct {
	Version, Commit, Date, Go, Platform string
}

// currentVersion is this binary's version: the link-time values, else the
// module version and VCS stamps of debug.ReadBuildInfo.
func currentVersion() buildVersion {
	v := buildVersion{Version: version, Commit: commit, Date: date, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
		modified := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if v.Commit == "" {
					v.Commit = s.Value
				}
			case "vcs.time":
				if v.Date == "" {
					v.Date = s.Value
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if modified && commit == "" && v.Commit != "" {
			v.Commit += "-modified"
		}
	}
	if v.Version == "" {
		v.Version = "dev"
	}
	if v.Commit == "" {
		v.Commit = "unknown"
	}
	return v
}

func (v buildVersion) String() string {
	s := fmt.Sprintf("baluchon %s (commit %s", v.Version, v.Commit)
	if v.Date != "" {
		s += ", built " + v.Date
	}
	return s + ", " + v.Go + ", " + v.Platform + ")"
}

func cmdVersion(e *env, args []string) error {
	f := newFlags(e, "version")
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("version takes no arguments")
	}
	v := currentVersion()
	if *asJSON {
		return printJSON(e, v)
	}
	fmt.Fprintln(e.stdout, v)
	return nil
}
