-- Pandoc Lua filter of report.docx, for both renderers (_quarto.yml: format: docx: filters).
-- A figure's fig-alt is its picture's description (alt text) in Word; Word would otherwise
-- take the caption.
-- Word readers have no notebook views: a link to a view becomes the cell reference in words,
-- the notebook file (in the report folder's notebooks/) and the cell's id.
--   [Notebook cell ↗](notebooks/02_experience.html#cell-improvement){.cell-link}
--     -> "Computed in notebooks/02_experience.ipynb, cell improvement."
--   [Users noting improvement](notebooks/02_experience.html#cell-improvement)
--     -> "Users noting improvement (notebooks/02_experience.ipynb, cell improvement)"

local function in_words(target)
  local stem, cell = target:match("^notebooks/(%d%d_[%w_%-]+)%.html#cell%-([%w_%-]+)$")
  if stem then
    return "notebooks/" .. stem .. ".ipynb, cell " .. cell
  end
  stem = target:match("^notebooks/(%d%d_[%w_%-]+)%.html$")
  if stem then
    return "notebooks/" .. stem .. ".ipynb"
  end
  return nil
end

function Link(link)
  local words = in_words(link.target)
  if words == nil then
    return nil
  end
  if link.classes:includes("cell-link") then
    return pandoc.Inlines("Computed in " .. words .. ".")
  end
  local out = pandoc.Inlines(link.content)
  out:insert(pandoc.Space())
  out:extend(pandoc.Inlines("(" .. words .. ")"))
  return out
end

function Image(img)
  local alt = img.attributes["fig-alt"] or img.attributes["alt"]
  if alt then
    img.caption = pandoc.Inlines(alt)
  end
  return img
end
