-- Pandoc Lua filter of the pandoc renderer: what Quarto does that plain pandoc does not.
--  * refuses remote resources before pandoc would try to download them (the report opens offline);
--  * fig-alt becomes the image's alt text;
--  * callouts (::: {.callout-warning} ...) get Quarto's title ("Warning" unless title="...")
--    and, in Typst, a coloured box.

local typst = FORMAT:match("typst") ~= nil

local resource_tags = {
  img = 1, script = 1, link = 1, iframe = 1, source = 1, video = 1, audio = 1, embed = 1}

local function remote_urls(blocks)
  local urls = pandoc.List{}
  local function add(url)
    if url:match("^https?://") or url:match("^//") then urls:insert(url) end
  end
  local function raw(r)
    if not r.format:match("html") then return end
    for tag, attrs in r.text:gmatch("<(%a+)(%s[^>]*)>") do
      if resource_tags[tag:lower()] then
        for _, name in ipairs({"src", "href"}) do
          for url in attrs:gmatch("%s" .. name .. "%s*=%s*[\"']?([^\"'%s>]+)") do add(url) end
        end
      end
    end
  end
  blocks:walk({Image = function(img) add(img.src) end, RawInline = raw, RawBlock = raw})
  return urls
end

local function alt_text(img)
  local alt = img.attributes["fig-alt"]
  if alt then
    img.attributes["fig-alt"] = nil
    img.attributes["alt"] = alt
  end
  return img
end

local box = {
  warning = 'fill: rgb("#fff6e8"), stroke: (left: 4pt + rgb("#d9822b"), rest: 0.5pt + rgb("#e0a84f"))',
  note = 'fill: rgb("#eef6fd"), stroke: (left: 4pt + rgb("#2f7ec1"), rest: 0.5pt + rgb("#9cc3e6"))',
}
box.important, box.caution, box.tip = box.warning, box.warning, box.note

local function callout(div)
  for _, class in ipairs(div.classes) do
    local kind = class:match("^callout%-(%a+)$")
    if kind and box[kind] then
      local title = div.attributes["title"] or (kind:sub(1, 1):upper() .. kind:sub(2))
      div.attributes["title"] = nil
      local heading = pandoc.Div(pandoc.Plain(pandoc.Strong(title)), {class = "callout-title"})
      div.content:insert(1, heading)
      if not typst then
        div.classes:insert("callout")
        return div
      end
      local out = pandoc.Blocks{pandoc.RawBlock("typst",
        "#block(width: 100%, inset: 8pt, radius: 2pt, breakable: false, " .. box[kind] .. ")[")}
      out:extend(div.content)
      out:insert(pandoc.RawBlock("typst", "]"))
      return out
    end
  end
end

function Pandoc(doc)
  local remote = remote_urls(doc.blocks)
  if #remote > 0 then error("remote resources: " .. table.concat(remote, ", "), 0) end
  doc.blocks = doc.blocks:walk({Image = alt_text, Div = callout})
  return doc
end
