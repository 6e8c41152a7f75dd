package pipeline

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// cacheDir is the render cache: renderReply files named by render.Key, under
// $PLINTH_CACHE_DIR or the user's cache directory. An entry is only ever
// written for a render that passed every check, and its key covers every
// input, so a hit is exactly what rendering again would produce.
func cacheDir(noCache bool) string {
	if noCache {
		return ""
	}
	if dir := os.Getenv("PLINTH_CACHE_DIR"); dir != "" {
		return filepath.Join(dir, "render")
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "plinth", "render")
}

// readCached returns the reply of an earlier render with this key: its
// metadata, and the directory holding its files.
func readCached(dir, key string) (*renderReply, bool) {
	data, err := os.ReadFile(filepath.Join(dir, key, "reply.json"))
	if err != nil {
		return nil, false
	}
	var reply renderReply
	if json.Unmarshal(data, &reply) != nil {
		return nil, false
	}
	reply.FilesDir = filepath.Join(dir, key, "files")
	return &reply, true
}

// writeCached stores a reply's files and metadata under its key, written
// beside and renamed into place, and returns the reply pointing at them.
func writeCached(dir, key string, reply *renderReply) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(dir, key+".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.Mkdir(filepath.Join(tmp, "files"), 0o755); err != nil {
		return err
	}
	for name, data := range reply.Files {
		if err := os.WriteFile(filepath.Join(tmp, "files", name), data, 0o644); err != nil {
			return err
		}
	}
	meta := *reply
	meta.Files, meta.FilesDir = nil, ""
	data, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "reply.json"), data, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, key)); err != nil && !os.IsExist(err) {
		return err
	}
	reply.Files, reply.FilesDir = nil, filepath.Join(dir, key, "files")
	return nil
}

// buildID identifies the running plinth binary for render.Key: its size
// and modification time, so that a rebuilt plinth renders afresh.
func buildID() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	fi, err := os.Stat(exe)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%d-%d", fi.Size(), fi.ModTime().UnixNano())
}

// dirCache is render.Cache over a directory: an entry is a file named by
// its key, written beside and renamed into place.
type dirCache struct{ dir string }

func (c dirCache) Get(key string) ([]byte, bool) {
	data, err := os.ReadFile(filepath.Join(c.dir, key))
	return data, err == nil
}

func (c dirCache) Put(key string, data []byte) {
	if os.MkdirAll(c.dir, 0o755) != nil {
		return
	}
	tmp, err := os.CreateTemp(c.dir, key+".tmp-")
	if err != nil {
		return
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err == nil && tmp.Close() == nil {
		os.Rename(tmp.Name(), filepath.Join(c.dir, key))
	}
}
