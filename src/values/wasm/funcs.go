package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"text/template"

	"github.com/BurntSushi/toml"
	"github.com/Masterminds/sprig/v3"
	"sigs.k8s.io/yaml"
)

// sprig builds its maps afresh on every call; the renderer serves many calls, so it takes them once.
var (
	htmlSafeFuncs = sprig.FuncMap()
	textFuncs_    = sprig.TxtFuncMap()
)

// funcMap is sprig's function map with the helpers Sveltos adds on top (libsveltos lib/funcmap) and the
// accessors Sveltos binds to the resources of templateResourceRefs (addon-controller's template
// instantiation). The helpers behave as there: marshalling errors are swallowed into an empty string
// (toToml returns the error text), parse errors land in an "Error" entry or as the only list element.
func funcMap(textFuncs bool, data *clusterObjects) template.FuncMap {
	base := htmlSafeFuncs
	if textFuncs {
		base = textFuncs_
	}
	fm := make(template.FuncMap, len(base)+16)
	for k, v := range base {
		fm[k] = v
	}
	fm["toYaml"] = func(v interface{}) string {
		b, err := yaml.Marshal(v)
		if err != nil {
			return ""
		}
		return strings.TrimSuffix(string(b), "\n")
	}
	fm["fromYaml"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	fm["fromYamlArray"] = func(s string) []interface{} {
		a := []interface{}{}
		if err := yaml.Unmarshal([]byte(s), &a); err != nil {
			a = []interface{}{err.Error()}
		}
		return a
	}
	fm["toJson"] = func(v interface{}) string {
		b, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		return string(b)
	}
	fm["fromJson"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	fm["fromJsonArray"] = func(s string) []interface{} {
		a := []interface{}{}
		if err := json.Unmarshal([]byte(s), &a); err != nil {
			a = []interface{}{err.Error()}
		}
		return a
	}
	fm["toToml"] = func(v interface{}) string {
		var b bytes.Buffer
		if err := toml.NewEncoder(&b).Encode(v); err != nil {
			return err.Error()
		}
		return b.String()
	}
	fm["fromToml"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := toml.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	addResourceFuncs(fm, data)
	return fm
}

// addResourceFuncs binds the templateResourceRefs accessors to data.MgmtResources. ksm-flux fills no
// MgmtResources (templateResourceRefs has no Flux meaning and is reported as unsupported), so these give
// what Sveltos gives for an identifier it does not know: nil or "".
func addResourceFuncs(fm template.FuncMap, data *clusterObjects) {
	get := func(id string) (map[string]interface{}, bool) {
		u, ok := data.MgmtResources[id]
		return u, ok
	}
	fm["getResource"] = func(id string) map[string]interface{} {
		u, ok := get(id)
		if !ok {
			return nil
		}
		return withoutServerFields(u)
	}
	fm["copy"] = func(id string) string {
		u, ok := get(id)
		if !ok {
			return ""
		}
		b, err := yaml.Marshal(withoutServerFields(u))
		if err != nil {
			return ""
		}
		return strings.TrimSuffix(string(b), "\n")
	}
	fm["getField"] = func(id string, fields string) interface{} {
		u, ok := get(id)
		if !ok {
			return ""
		}
		v, found := nested(u, strings.Split(fields, "."))
		if !found {
			return ""
		}
		return v
	}
	fm["removeField"] = func(id, fields string) string {
		u, ok := get(id)
		if !ok {
			return ""
		}
		removeNested(u, strings.Split(fields, "."))
		b, err := yaml.Marshal(withoutServerFields(u))
		if err != nil {
			return ""
		}
		return strings.TrimSuffix(string(b), "\n")
	}
	fm["setField"] = func(id, fields string, value interface{}) string {
		u, ok := get(id)
		if !ok {
			return ""
		}
		if !setNested(u, strings.Split(fields, "."), value) {
			return ""
		}
		b, err := yaml.Marshal(withoutServerFields(u))
		if err != nil {
			return ""
		}
		return strings.TrimSuffix(string(b), "\n")
	}
	fm["chainRemoveField"] = func(u map[string]interface{}, fields string) map[string]interface{} {
		removeNested(u, strings.Split(fields, "."))
		return u
	}
	fm["chainSetField"] = func(u map[string]interface{}, fields string, value interface{}) map[string]interface{} {
		if !setNested(u, strings.Split(fields, "."), value) {
			return nil
		}
		return u
	}
}

// withoutServerFields drops what the API server owns (managedFields, resourceVersion, uid), as Sveltos
// does before handing a resource to a template.
func withoutServerFields(u map[string]interface{}) map[string]interface{} {
	if md, ok := u["metadata"].(map[string]interface{}); ok {
		delete(md, "managedFields")
		delete(md, "resourceVersion")
		delete(md, "uid")
	}
	return u
}

func nested(m map[string]interface{}, path []string) (interface{}, bool) {
	var cur interface{} = m
	for _, p := range path {
		mm, ok := cur.(map[string]interface{})
		if !ok {
			return nil, false
		}
		if cur, ok = mm[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func removeNested(m map[string]interface{}, path []string) {
	for i, p := range path {
		if i == len(path)-1 {
			delete(m, p)
			return
		}
		next, ok := m[p].(map[string]interface{})
		if !ok {
			return
		}
		m = next
	}
}

func setNested(m map[string]interface{}, path []string, value interface{}) bool {
	for i, p := range path {
		if i == len(path)-1 {
			m[p] = value
			return true
		}
		v, exists := m[p]
		if !exists || v == nil {
			n := map[string]interface{}{}
			m[p] = n
			m = n
			continue
		}
		next, ok := v.(map[string]interface{})
		if !ok {
			return false
		}
		m = next
	}
	return true
}
