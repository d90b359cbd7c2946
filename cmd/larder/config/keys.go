package config

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// fieldType finds the Go type a key path decodes into.
func fieldType(key []string) (reflect.Type, bool) {
	t := reflect.TypeOf(Config{})
	for _, k := range key {
		for t.Kind() == reflect.Slice || t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Map:
			t = t.Elem()
			continue
		case reflect.Struct:
		default:
			return nil, false
		}
		f, ok := fieldByTag(t, k)
		if !ok {
			return nil, false
		}
		t = f.Type
	}
	return t, true
}

func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if tag == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// knownKeys lists the keys allowed beside an unknown one.
func knownKeys(key []string) string {
	if len(key) == 0 {
		return ""
	}
	t, ok := fieldType(key[:len(key)-1])
	if !ok {
		return ""
	}
	for t.Kind() == reflect.Slice || t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return ""
	}
	var names []string
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ",")
		if tag != "" && tag != "-" {
			names = append(names, tag)
		}
	}
	sort.Strings(names)
	where := "at the top level"
	if len(key) > 1 {
		where = "in [" + strings.Join(key[:len(key)-1], ".") + "]"
	}
	return fmt.Sprintf(" (known keys %s: %s)", where, strings.Join(names, ", "))
}

// expected describes in words the type a key wants.
func expected(key []string) string {
	t, ok := fieldType(key)
	if !ok {
		return ""
	}
	return describe(t, key)
}

func describe(t reflect.Type, key []string) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Struct {
			return fmt.Sprintf("tables written as [[%s]]", strings.Join(key, "."))
		}
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(describe(t.Elem(), key), "a "), "an ") + "s"
	case reflect.Map, reflect.Struct:
		return fmt.Sprintf("a table written as [%s]", strings.Join(key, "."))
	}
	return t.String()
}
