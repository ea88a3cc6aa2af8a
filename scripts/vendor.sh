#!/usr/bin/env bash
# Copy the built front-end files from node_modules/ (installed by `npm ci` from
# package.json + package-lock.json) into static/vendor/, which git ignores.
# Run from the repository root; `make run` and `make test` call it.
set -euo pipefail

cd "$(dirname "$0")/.."
src=node_modules
dest=static/vendor

for pkg in htmx.org alpinejs swagger-ui-dist; do
  if [[ ! -d "$src/$pkg" ]]; then
    echo "vendor.sh: $src/$pkg is missing; run 'npm ci' first." >&2
    exit 1
  fi
done

tmp="$(mktemp -d "static/.vendor.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

cp "$src/htmx.org/dist/htmx.min.js" "$tmp/htmx.min.js"
cp "$src/alpinejs/dist/cdn.min.js" "$tmp/alpine.min.js"

# Swagger UI: what drf-spectacular's page loads (SWAGGER_UI_DIST = /static/vendor/swagger-ui),
# the OAuth2 redirect page, the icons and the licence, plus any source map a copied file
# names (a manifest static storage refuses a file whose source map is missing).
mkdir -p "$tmp/swagger-ui"
swagger_files=(
  swagger-ui-bundle.js swagger-ui-standalone-preset.js swagger-ui.css
  oauth2-redirect.html oauth2-redirect.js favicon-16x16.png favicon-32x32.png LICENSE NOTICE
)
for f in "${swagger_files[@]}"; do
  cp "$src/swagger-ui-dist/$f" "$tmp/swagger-ui/$f"
  case "$f" in
    *.js | *.css)
      map="$(grep -o 'sourceMappingURL=[^ *]*' "$src/swagger-ui-dist/$f" | tail -n 1 | cut -d= -f2 || true)"
      if [[ -n "$map" && -f "$src/swagger-ui-dist/$map" ]]; then
        cp "$src/swagger-ui-dist/$map" "$tmp/swagger-ui/$map"
      fi
      ;;
  esac
done

# Versions, for the record (and so a changed lock file shows in the stamp).
{
  echo "# Copied from node_modules by scripts/vendor.sh; do not edit."
  for pkg in htmx.org alpinejs swagger-ui-dist; do
    printf '%s %s\n' "$pkg" "$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$src/$pkg/package.json" | head -n 1)"
  done
} >"$tmp/VERSIONS"

rm -rf "$dest"
mv "$tmp" "$dest"
chmod 755 "$dest"
trap - EXIT
echo "Front-end files copied to $dest/: $(grep -v '^#' "$dest/VERSIONS" | paste -sd, - | sed 's/,/, /g')"
